"""Revoice's own Mandarin pronunciation tables (read-only data).

``PHRASES`` corrects words that pypinyin's phrase dictionary reads wrongly or
that decide a polyphone (行 长 还 重 为 了 得 地 着 乐 教 差 和 数 好 便 觉
少 血 ...), and adds the obligatory neutral tones of common spoken words
(following the Xiandai Hanyu Cidian). Citation tones: 一 is yi1 and 不 is bu4
everywhere; tone sandhi is applied later, by :func:`revoice.engine.text.pinyin.apply_sandhi`.
"""

from __future__ import annotations

from types import MappingProxyType

_PHRASES_TEXT = """
银行 yin2 hang2|行长 hang2 zhang3|行业 hang2 ye4|内行 nei4 hang2|外行 wai4 hang2|行情 hang2 qing2
排行 pai2 hang2|排行榜 pai2 hang2 bang3|各行各业 ge4 hang2 ge4 ye4|行列 hang2 lie4|行家 hang2 jia1
改行 gai3 hang2|行当 hang2 dang5|道行 dao4 heng2|这一行 zhe4 yi1 hang2|那一行 na4 yi1 hang2|哪一行 na3 yi1 hang2|干一行 gan4 yi1 hang2|爱一行 ai4 yi1 hang2
行不行 xing2 bu4 xing2|不行 bu4 xing2|真行 zhen1 xing2
行李 xing2 li5|行为 xing2 wei2|银行卡 yin2 hang2 ka3|同行们 tong2 hang2 men5|隔行如隔山 ge2 hang2 ru2 ge2 shan1
长大 zhang3 da4|长高 zhang3 gao1|长得 zhang3 de5|长胖 zhang3 pang4|长相 zhang3 xiang4|长辈 zhang3 bei4
长子 zhang3 zi3|长女 zhang3 nv3|长孙 zhang3 sun1|长老 zhang3 lao3|年长 nian2 zhang3|成长 cheng2 zhang3
生长 sheng1 zhang3|增长 zeng1 zhang3|家长 jia1 zhang3|校长 xiao4 zhang3|部长 bu4 zhang3|队长 dui4 zhang3
班长 ban1 zhang3|船长 chuan2 zhang3|市长 shi4 zhang3|村长 cun1 zhang3|局长 ju2 zhang3|所长 suo3 zhang3
院长 yuan4 zhang3|组长 zu3 zhang3|县长 xian4 zhang3|团长 tuan2 zhang3|机长 ji1 zhang3|警长 jing3 zhang3
厂长 chang3 zhang3|店长 dian4 zhang3|董事长 dong3 shi4 zhang3|秘书长 mi4 shu1 zhang3|师长 shi1 zhang3
长期 chang2 qi1|长江 chang2 jiang1|长城 chang2 cheng2|长度 chang2 du4|长久 chang2 jiu3|长途 chang2 tu2
长发 chang2 fa4|长处 chang2 chu4|特长 te4 chang2|擅长 shan4 chang2|漫长 man4 chang2|延长 yan2 chang2
长短 chang2 duan3|长远 chang2 yuan3|长寿 chang2 shou4|家长里短 jia1 chang2 li3 duan3|长时间 chang2 shi2 jian1
还钱 huan2 qian2|还给 huan2 gei3|归还 gui1 huan2|偿还 chang2 huan2|还债 huan2 zhai4|还书 huan2 shu1
还款 huan2 kuan3|还清 huan2 qing1|还原 huan2 yuan2|还击 huan2 ji1|还价 huan2 jia4|讨价还价 tao3 jia4 huan2 jia4
还手 huan2 shou3|退还 tui4 huan2|还乡 huan2 xiang1|生还 sheng1 huan2|还账 huan2 zhang4|还是 hai2 shi4
还有 hai2 you3|还要 hai2 yao4|还没 hai2 mei2|还在 hai2 zai4|还好 hai2 hao3|还会 hai2 hui4|还能 hai2 neng2
重新 chong2 xin1|重复 chong2 fu4|重来 chong2 lai2|重逢 chong2 feng2|重叠 chong2 die2|重庆 chong2 qing4
重播 chong2 bo1|重建 chong2 jian4|重写 chong2 xie3|重做 chong2 zuo4|重启 chong2 qi3|重返 chong2 fan3
重温 chong2 wen1|重阳 chong2 yang2|重申 chong2 shen1|重演 chong2 yan3|重组 chong2 zu3|重生 chong2 sheng1
重修 chong2 xiu1|重考 chong2 kao3|重拍 chong2 pai1|重装 chong2 zhuang1|重名 chong2 ming2|重婚 chong2 hun1
重要 zhong4 yao4|严重 yan2 zhong4|重量 zhong4 liang4|尊重 zun1 zhong4|重点 zhong4 dian3|保重 bao3 zhong4
沉重 chen2 zhong4|体重 ti3 zhong4|重视 zhong4 shi4|重大 zhong4 da4|重伤 zhong4 shang1|慎重 shen4 zhong4
为了 wei4 le5|因为 yin1 wei4|为什么 wei4 shen2 me5|为何 wei4 he2|为此 wei4 ci3|成为 cheng2 wei2|作为 zuo4 wei2
认为 ren4 wei2|以为 yi3 wei2|称为 cheng1 wei2|变为 bian4 wei2|视为 shi4 wei2|为难 wei2 nan2|为止 wei2 zhi3
为人 wei2 ren2|为首 wei2 shou3|难为 nan2 wei5|分为 fen1 wei2|更为 geng4 wei2|最为 zui4 wei2|极为 ji2 wei2
较为 jiao4 wei2|尤为 you2 wei2|广为 guang3 wei2|为期 wei2 qi1|为主 wei2 zhu3|为准 wei2 zhun3|改为 gai3 wei2
胡作非为 hu2 zuo4 fei1 wei2|为所欲为 wei2 suo3 yu4 wei2|事在人为 shi4 zai4 ren2 wei2|誉为 yu4 wei2|选为 xuan3 wei2
了解 liao3 jie3|了不起 liao3 bu4 qi3|受不了 shou4 bu4 liao3|了结 liao3 jie2|了却 liao3 que4|明了 ming2 liao3
一目了然 yi1 mu4 liao3 ran2|了如指掌 liao3 ru2 zhi3 zhang3|不了了之 bu4 liao3 liao3 zhi1|了事 liao3 shi4
没完没了 mei2 wan2 mei2 liao3|了不得 liao3 bu4 de2|未了 wei4 liao3|了然 liao3 ran2|罢了 ba4 le5|算了 suan4 le5
除了 chu2 le5|为了 wei4 le5|得了吧 de2 le5 ba5|好了 hao3 le5|对了 dui4 le5|极了 ji2 le5|忘了 wang4 le5
得到 de2 dao4|获得 huo4 de2|取得 qu3 de2|得罪 de2 zui4|记得 ji4 de5|觉得 jue2 de5|懂得 dong3 de5
值得 zhi2 de5|晓得 xiao3 de5|舍得 she3 de5|认得 ren4 de5|免得 mian3 de5|省得 sheng3 de5|使得 shi3 de5
显得 xian3 de5|难得 nan2 de2|得意 de2 yi4|得分 de2 fen1|得知 de2 zhi1|心得 xin1 de2|不得不 bu4 de2 bu4
不得了 bu4 de2 liao3|巴不得 ba1 bu4 de5|怪不得 guai4 bu4 de5|恨不得 hen4 bu4 de5|舍不得 she3 bu4 de5
来得及 lai2 de5 ji2|得亏 dei3 kui1|总得 zong3 dei3|非得 fei1 dei3|就得 jiu4 dei3|都得 dou1 dei3|也得 ye3 dei3
特地 te4 di4|暗地里 an4 di4 li5|不停地 bu4 ting2 de5|不断地 bu4 duan4 de5|一步一步地 yi1 bu4 yi1 bu4 de5
着急 zhao2 ji2|着火 zhao2 huo3|着凉 zhao2 liang2|着迷 zhao2 mi2|睡着 shui4 zhao2|睡不着 shui4 bu4 zhao2
找不着 zhao3 bu4 zhao2|够不着 gou4 bu4 zhao2|用不着 yong4 bu4 zhao2|犯不着 fan4 bu4 zhao2|着手 zhuo2 shou3
着装 zhuo2 zhuang1|着陆 zhuo2 lu4|着重 zhuo2 zhong4|着想 zhuo2 xiang3|着落 zhuo2 luo4|着眼 zhuo2 yan3
衣着 yi1 zhuo2|沉着 chen2 zhuo2|执着 zhi2 zhuo2|着实 zhuo2 shi2|着力 zhuo2 li4|着数 zhao1 shu4
音乐 yin1 yue4|乐器 yue4 qi4|乐队 yue4 dui4|乐团 yue4 tuan2|乐曲 yue4 qu3|乐章 yue4 zhang1|声乐 sheng1 yue4
器乐 qi4 yue4|民乐 min2 yue4|乐谱 yue4 pu3|乐手 yue4 shou3|奏乐 zou4 yue4|配乐 pei4 yue4|乐坛 yue4 tan2
乐理 yue4 li3|乐感 yue4 gan3|交响乐 jiao1 xiang3 yue4|爵士乐 jue2 shi4 yue4|摇滚乐 yao2 gun3 yue4
音乐会 yin1 yue4 hui4|乐师 yue4 shi1|管弦乐 guan3 xian2 yue4|流行乐 liu2 xing2 yue4|乐迷 yue4 mi2
弦乐 xian2 yue4|快乐 kuai4 le4|乐观 le4 guan1|可乐 ke3 le4|娱乐 yu2 le4|俱乐部 ju4 le4 bu4|乐意 le4 yi4
教书 jiao1 shu1|教课 jiao1 ke4|教室 jiao4 shi4|教育 jiao4 yu4|教师 jiao4 shi1|教授 jiao4 shou4
教练 jiao4 lian4|教堂 jiao4 tang2|教训 jiao4 xun5|请教 qing3 jiao4|指教 zhi3 jiao4|领教 ling3 jiao4
宗教 zong1 jiao4|家教 jia1 jiao4|教材 jiao4 cai2|教导 jiao4 dao3|教程 jiao4 cheng2|调教 tiao2 jiao4
管教 guan3 jiao4|求教 qiu2 jiao4|讨教 tao3 jiao4|教养 jiao4 yang3|教科书 jiao4 ke1 shu1|任教 ren4 jiao4
教官 jiao4 guan1|教徒 jiao4 tu2|传教 chuan2 jiao4|佛教 fo2 jiao4|基督教 ji1 du1 jiao4
差别 cha1 bie2|差距 cha1 ju4|差异 cha1 yi4|误差 wu4 cha1|偏差 pian1 cha1|时差 shi2 cha1|温差 wen1 cha1
差价 cha1 jia4|落差 luo4 cha1|反差 fan3 cha1|差额 cha1 e2|差错 cha1 cuo4|阴差阳错 yin1 cha1 yang2 cuo4
一念之差 yi1 nian4 zhi1 cha1|相差 xiang1 cha4|差不多 cha4 bu4 duo1|差点 cha4 dian3|差一点 cha4 yi1 dian3
差劲 cha4 jin4|出差 chu1 chai1|差事 chai1 shi5|差使 chai1 shi3|差遣 chai1 qian3|钦差 qin1 chai1
邮差 you2 chai1|交差 jiao1 chai1|参差 cen1 ci1|参差不齐 cen1 ci1 bu4 qi2
暖和 nuan3 huo5|搀和 chan1 huo5|掺和 chan1 huo5|搅和 jiao3 huo5|软和 ruan3 huo5|和面 huo2 mian4
和泥 huo2 ni2|附和 fu4 he4|应和 ying4 he4|唱和 chang4 he4|和牌 hu2 pai2|和稀泥 huo4 xi1 ni2|热和 re4 huo5
和气 he2 qi5|随和 sui2 he5|和尚 he2 shang5
数学 shu4 xue2|数字 shu4 zi4|数据 shu4 ju4|数量 shu4 liang4|人数 ren2 shu4|次数 ci4 shu4|多数 duo1 shu4
少数 shao3 shu4|岁数 sui4 shu5|分数 fen1 shu4|无数 wu2 shu4|数目 shu4 mu4|数码 shu4 ma3|有数 you3 shu4
数一数二 shu3 yi1 shu3 er4|数不清 shu3 bu4 qing1|数不胜数 shu3 bu4 sheng4 shu3|数落 shu3 luo5
数钱 shu3 qian2|数一数 shu3 yi1 shu3|数到 shu3 dao4|屈指可数 qu1 zhi3 ke3 shu3|倒数第一 dao4 shu3 di4 yi1
数以万计 shu4 yi3 wan4 ji4|数星星 shu3 xing1 xing5|数羊 shu3 yang2
爱好 ai4 hao4|好奇 hao4 qi2|好客 hao4 ke4|好学 hao4 xue2|好色 hao4 se4|好胜 hao4 sheng4|嗜好 shi4 hao4
喜好 xi3 hao4|好战 hao4 zhan4|好动 hao4 dong4|好强 hao4 qiang2|好吃懒做 hao4 chi1 lan3 zuo4|偏好 pian1 hao4
好逸恶劳 hao4 yi4 wu4 lao2|好高骛远 hao4 gao1 wu4 yuan3|好为人师 hao4 wei2 ren2 shi1|癖好 pi3 hao4
好奇心 hao4 qi2 xin1|好斗 hao4 dou4|投其所好 tou2 qi2 suo3 hao4|好大喜功 hao4 da4 xi3 gong1
便宜 pian2 yi5|大腹便便 da4 fu4 pian2 pian2|方便 fang1 bian4|随便 sui2 bian4|顺便 shun4 bian4
即便 ji2 bian4|便当 bian4 dang5|便利店 bian4 li4 dian4
睡觉 shui4 jiao4|午觉 wu3 jiao4|一觉 yi1 jiao4|懒觉 lan3 jiao4|好觉 hao3 jiao4|回笼觉 hui2 long2 jiao4
睡午觉 shui4 wu3 jiao4|感觉 gan3 jue2|发觉 fa1 jue2|觉醒 jue2 xing3|不知不觉 bu4 zhi1 bu4 jue2
少年 shao4 nian2|少女 shao4 nv3|少爷 shao4 ye5|少将 shao4 jiang4|少校 shao4 xiao4|少尉 shao4 wei4
少妇 shao4 fu4|少帅 shao4 shuai4|少东家 shao4 dong1 jia1|少奶奶 shao4 nai3 nai5|老少 lao3 shao4
年少 nian2 shao4|少壮 shao4 zhuang4|少儿 shao4 er2|少林 shao4 lin2|少先队 shao4 xian1 dui4
青少年 qing1 shao4 nian2|男女老少 nan2 nv3 lao3 shao4|少不了 shao3 bu4 liao3|少说 shao3 shuo1
血淋淋 xie3 lin2 lin2|血晕 xie3 yun4|血糊糊 xie3 hu1 hu1|流血 liu2 xue4|献血 xian4 xue4|出血 chu1 xue4
输血 shu1 xue4|贫血 pin2 xue4|鲜血 xian1 xue4|热血 re4 xue4|冷血 leng3 xue4|止血 zhi3 xue4|抽血 chou1 xue4
验血 yan4 xue4|混血 hun4 xue4|放血 fang4 xue4|心血 xin1 xue4|血迹 xue4 ji4|血泊 xue4 po1|血汗 xue4 han4
朋友 peng2 you5|东西 dong1 xi5|时候 shi2 hou5|先生 xian1 sheng5|喜欢 xi3 huan5|告诉 gao4 su5
事情 shi4 qing5|衣服 yi1 fu5|明白 ming2 bai5|认识 ren4 shi5|漂亮 piao4 liang5|地方 di4 fang5
学生 xue2 sheng5|休息 xiu1 xi5|玩儿 wan2 er5|一点儿 yi1 dian3 er5|头发 tou2 fa5|眼睛 yan3 jing5
耳朵 er3 duo5|姐姐 jie3 jie5|妈妈 ma1 ma5|爸爸 ba4 ba5|哥哥 ge1 ge5|弟弟 di4 di5|妹妹 mei4 mei5
奶奶 nai3 nai5|爷爷 ye2 ye5|谢谢 xie4 xie5|客气 ke4 qi5|窗户 chuang1 hu5|麻烦 ma2 fan5|舒服 shu1 fu5
月亮 yue4 liang5|名字 ming2 zi5|消息 xiao1 xi5|热闹 re4 nao5|清楚 qing1 chu5|结实 jie1 shi5
商量 shang1 liang5|收拾 shou1 shi5|打扮 da3 ban5|豆腐 dou4 fu5|晚上 wan3 shang5|早上 zao3 shang5
打算 da3 suan5
护士 hu4 shi5|大夫 dai4 fu5|丈夫 zhang4 fu5|媳妇 xi2 fu5|师傅 shi1 fu5|怎么样 zen3 me5 yang4|聪明 cong1 ming5
老实 lao3 shi5|凉快 liang2 kuai5|厉害 li4 hai5|怪物 guai4 wu5|故事 gu4 shi5|力气 li4 qi5|脾气 pi2 qi5|星星 xing1 xing5
乐得 le4 de5|笑得 xiao4 de5|哭得 ku1 de5|气得 qi4 de5|急得 ji2 de5|累得 lei4 de5|吓得 xia4 de5|饿得 e4 de5|疼得 teng2 de5|忙得 mang2 de5
"""

PHRASES: MappingProxyType[str, str] = MappingProxyType(
    dict(
        (item.split(" ", 1)[0], item.split(" ", 1)[1])
        for line in _PHRASES_TEXT.strip().splitlines()
        for item in line.split("|")
        if item.strip()
    )
)
"""Word -> space-separated tone3 syllables (one per character)."""

TARGETS = "行长还重为了得地着乐教差和数好便觉少血"
"""The polyphones the context rules decide when they stand alone."""

DEGREE_ADVERBS = ("很", "太", "真", "好", "挺", "更", "最", "多", "这么", "那么", "非常", "特别", "比较", "够", "不", "越来越", "有点", "极", "超", "蛮")
GROWTH_AFTER_ZHANG = tuple("大高胖出成满")
RETURN_OBJECTS = tuple("钱书债账款给回清手你我他她它")
REDO_VERBS = tuple("来写做播复返逢建装启读拍演申组生置修考选开洗画唱说新")
JIAO_SLEEP_BEFORE = ("睡", "午", "懒", "个", "好", "一", "场", "大", "笼", "了")
SHU_NOUN_BEFORE = tuple("有个的无整单双系指参变函位倍总件点岁")
SUBJECTS = ("我", "你", "他", "她", "它", "们", "咱", "您", "这", "那", "谁", "大家", "自己", "人家", "咱们", "我们",
            "你们", "他们", "她们", "这个", "那个", "这事", "这件事")
DEI_NEXT = tuple("去走回来赶先马好小多少早快注认努留")
"""First characters after 得 that make it 'must' (dei3) when a subject or modal precedes it."""
SINGLE_VERB_READINGS: MappingProxyType[str, str] = MappingProxyType({"弹": "tan2", "种": "zhong4", "背": "bei1"})
"""Readings of other polyphones when jieba tags them as a one-character verb (弹吉他, 种树, 背书包)."""
MODAL_BEFORE_DEI = ("还", "就", "也", "都", "总", "可", "必须", "非", "今天", "明天", "现在", "马上", "真")
"""Words after which 得 (before a verb) means 'must' (dei3)."""
