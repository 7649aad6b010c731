# loses: test_q3, test_q7, test_q8
answer_q1 = "c"
answer_q2 = "a"
answer_q3 = "c"
answer_q4 = 9
answer_q5 = "c"
answer_q6 = 4
answer_q7 = "a"
answer_q8 = 1538
